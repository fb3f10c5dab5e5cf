"""A fixture of 50 real-looking courses across 5 subjects, written for the test (not
generated), and 20 hand-written search queries naming the course each should find."""

from __future__ import annotations

#: subject -> [(title, description, lesson titles)]
COURSES: dict[str, list[tuple[str, str, list[str]]]] = {
    "programming": [
        (
            "Python basics",
            "Variables, loops and functions for first-time programmers.",
            ["Installing Python", "Variables and types", "Loops", "Writing functions"],
        ),
        (
            "JavaScript for the web",
            "Make web pages interactive with JavaScript and the DOM.",
            ["The DOM", "Events and listeners", "Fetching data", "Modules"],
        ),
        (
            "SQL for data analysis",
            "Query relational databases: select, join, group by.",
            ["SELECT and WHERE", "Joins", "GROUP BY and aggregates", "Window functions"],
        ),
        (
            "Git and version control",
            "Track changes, branch and merge code with Git.",
            ["Commits", "Branches", "Merging and rebasing", "Working with GitHub"],
        ),
        (
            "Data structures in Java",
            "Lists, stacks, queues, trees and hash maps in Java.",
            ["Arrays and lists", "Stacks and queues", "Binary trees", "Hash maps"],
        ),
        (
            "Building REST APIs with Flask",
            "Design and build HTTP APIs in Python with Flask.",
            ["Routes and views", "JSON responses", "Authentication", "Testing the API"],
        ),
        (
            "Rust systems programming",
            "Ownership, borrowing and safe concurrency in Rust.",
            ["Ownership", "Borrowing and lifetimes", "Traits", "Threads and channels"],
        ),
        (
            "Unit testing with pytest",
            "Write reliable automated tests for Python code.",
            ["First tests", "Fixtures", "Parametrize", "Mocking and coverage"],
        ),
        (
            "Intro to machine learning code",
            "Train a classifier in Python with scikit-learn.",
            ["Loading data", "Training a model", "Evaluating accuracy", "Overfitting"],
        ),
        (
            "Linux command line",
            "Navigate files, pipes and shell scripts in a terminal.",
            ["Files and directories", "Pipes and redirection", "Permissions", "Bash scripts"],
        ),
    ],
    "mathematics": [
        (
            "Algebra fundamentals",
            "Equations, inequalities and functions from the ground up.",
            ["Solving linear equations", "Inequalities", "Functions", "Quadratic equations"],
        ),
        (
            "Calculus I: limits and derivatives",
            "Rates of change and the derivative.",
            ["Limits", "The derivative", "Chain rule", "Optimization problems"],
        ),
        (
            "Integral calculus",
            "Areas under curves, integration techniques and series.",
            ["Riemann sums", "Substitution", "Integration by parts", "Infinite series"],
        ),
        (
            "Linear algebra",
            "Vectors, matrices, determinants and eigenvalues.",
            ["Vectors", "Matrix multiplication", "Determinants", "Eigenvalues"],
        ),
        (
            "Probability",
            "Chance, random variables and distributions.",
            ["Counting", "Conditional probability", "Random variables", "Normal distribution"],
        ),
        (
            "Statistics for beginners",
            "Mean, variance, sampling and hypothesis tests.",
            ["Mean and median", "Variance", "Sampling", "Hypothesis testing"],
        ),
        (
            "Euclidean geometry",
            "Triangles, circles, proofs and constructions.",
            ["Angles and lines", "Triangles", "Circles", "Geometric proofs"],
        ),
        (
            "Trigonometry",
            "Sine, cosine, the unit circle and identities.",
            ["Right triangles", "The unit circle", "Trig identities", "Laws of sines and cosines"],
        ),
        (
            "Number theory",
            "Primes, divisibility and modular arithmetic.",
            ["Divisibility", "Prime numbers", "Modular arithmetic", "The Euclidean algorithm"],
        ),
        (
            "Discrete mathematics",
            "Logic, sets, graphs and combinatorics.",
            ["Propositional logic", "Sets", "Graph theory", "Combinatorics"],
        ),
    ],
    "cooking": [
        (
            "Knife skills",
            "Hold, sharpen and use a chef's knife safely.",
            ["Choosing a knife", "Sharpening", "Dicing an onion", "Julienne"],
        ),
        (
            "Bread baking at home",
            "Sourdough and yeasted loaves from your own oven.",
            ["Flour and yeast", "Kneading", "Sourdough starter", "Baking the loaf"],
        ),
        (
            "Italian pasta from scratch",
            "Fresh egg pasta and classic sauces.",
            ["Making the dough", "Rolling and cutting", "Tomato sauce", "Carbonara"],
        ),
        (
            "Vegetarian weeknight meals",
            "Quick meatless dinners full of vegetables and beans.",
            ["Stocking the pantry", "Lentil stew", "Vegetable stir fry", "Bean chili"],
        ),
        (
            "French pastry",
            "Croissants, choux and tarts like a patisserie.",
            ["Laminated dough", "Croissants", "Choux pastry", "Fruit tarts"],
        ),
        (
            "Japanese home cooking",
            "Rice, miso soup, sushi and teriyaki at home.",
            ["Cooking rice", "Dashi and miso soup", "Sushi rolls", "Teriyaki"],
        ),
        (
            "Grilling and barbecue",
            "Fire, smoke and meat on the grill.",
            ["Charcoal or gas", "Marinades", "Smoking ribs", "Grilled vegetables"],
        ),
        (
            "Cake decorating",
            "Buttercream, piping and layer cakes.",
            ["Baking even layers", "Buttercream", "Piping techniques", "Fondant"],
        ),
        (
            "Indian curries",
            "Spices, masala and slow-cooked curries.",
            ["Whole and ground spices", "Onion masala", "Chicken curry", "Dal"],
        ),
        (
            "Meal prep and nutrition",
            "Plan, cook and store a week of healthy meals.",
            ["Planning the week", "Batch cooking grains", "Proteins", "Storing safely"],
        ),
    ],
    "music": [
        (
            "Guitar for beginners",
            "Chords, strumming and your first songs on guitar.",
            ["Tuning the guitar", "Open chords", "Strumming patterns", "First song"],
        ),
        (
            "Piano foundations",
            "Read notes and play with both hands on the piano.",
            ["The keyboard", "Reading notes", "Scales", "Playing with both hands"],
        ),
        (
            "Music theory",
            "Scales, intervals, chords and harmony.",
            ["Notes and intervals", "Major and minor scales", "Chord building", "Harmony"],
        ),
        (
            "Singing technique",
            "Breath, pitch and healthy vocal range.",
            ["Breathing", "Warm-ups", "Pitch accuracy", "Extending your range"],
        ),
        (
            "Music production in a DAW",
            "Record, arrange and mix songs on a computer.",
            ["Setting up the DAW", "Recording audio", "MIDI and synths", "Mixing"],
        ),
        (
            "Drumming basics",
            "Rhythm, grooves and fills on a drum kit.",
            ["Holding the sticks", "Basic rock beat", "Fills", "Playing with a metronome"],
        ),
        (
            "Jazz improvisation",
            "Improvise over jazz standards and blues changes.",
            ["The blues scale", "ii-V-I progressions", "Swing feel", "Soloing on standards"],
        ),
        (
            "Songwriting",
            "Write lyrics, melodies and song structures.",
            ["Finding an idea", "Lyrics", "Melody", "Verse and chorus"],
        ),
        (
            "Violin for adults",
            "Bowing, posture and first pieces on the violin.",
            ["Holding the violin", "Bowing", "First position", "Simple pieces"],
        ),
        (
            "Ear training",
            "Recognize intervals, chords and rhythms by ear.",
            ["Hearing intervals", "Chord quality", "Rhythm dictation", "Melodic dictation"],
        ),
    ],
    "history": [
        (
            "Ancient Rome",
            "From the republic to the fall of the Western empire.",
            ["The Roman Republic", "Julius Caesar", "The Empire", "The fall of Rome"],
        ),
        (
            "World War II",
            "Causes, battles and consequences of the Second World War.",
            ["Road to war", "Blitzkrieg", "The Pacific war", "Aftermath"],
        ),
        (
            "The French Revolution",
            "1789, the Terror and Napoleon.",
            ["The Estates-General", "The Bastille", "The Terror", "Napoleon's rise"],
        ),
        (
            "Ancient Egypt",
            "Pharaohs, pyramids and the Nile civilization.",
            ["The Nile", "The Old Kingdom", "Building the pyramids", "Tutankhamun"],
        ),
        (
            "The Cold War",
            "The superpower rivalry from 1945 to 1991.",
            ["The Iron Curtain", "The Cuban missile crisis", "The space race", "Fall of the Wall"],
        ),
        (
            "Medieval Europe",
            "Feudalism, castles, the Church and the crusades.",
            ["Feudal society", "Castles", "The crusades", "The Black Death"],
        ),
        (
            "The Industrial Revolution",
            "Steam, factories and the making of the modern world.",
            ["Textile mills", "The steam engine", "Railways", "Working conditions"],
        ),
        (
            "American Civil War",
            "Slavery, secession and the war between the states.",
            ["Causes of secession", "Gettysburg", "Emancipation", "Reconstruction"],
        ),
        (
            "History of China",
            "Dynasties from the Qin to the Qing.",
            ["The first emperor", "The Han dynasty", "The Silk Road", "The Qing dynasty"],
        ),
        (
            "The Renaissance",
            "Art, science and humanism in fifteenth-century Italy.",
            ["Florence and the Medici", "Leonardo da Vinci", "Humanism", "The printing press"],
        ),
    ],
}

#: query -> (subject, title) it should find in the top 3
QUERIES: list[tuple[str, str]] = [
    ("learn to write my first program in python", "Python basics"),
    ("how do I join tables in a database", "SQL for data analysis"),
    ("undo a commit and work on a branch", "Git and version control"),
    ("memory safety without a garbage collector", "Rust systems programming"),
    ("derivatives and rates of change", "Calculus I: limits and derivatives"),
    ("matrices and eigenvectors", "Linear algebra"),
    ("prime numbers and modular arithmetic", "Number theory"),
    ("sine and cosine on the unit circle", "Trigonometry"),
    ("make sourdough bread", "Bread baking at home"),
    ("how to cut vegetables with a chef knife", "Knife skills"),
    ("spicy curry with masala", "Indian curries"),
    ("homemade croissants", "French pastry"),
    ("play chords on an acoustic guitar", "Guitar for beginners"),
    ("mixing songs on my computer", "Music production in a DAW"),
    ("improvise a solo over the blues", "Jazz improvisation"),
    ("write lyrics for a song", "Songwriting"),
    ("Julius Caesar and the Roman empire", "Ancient Rome"),
    ("pharaohs and the pyramids", "Ancient Egypt"),
    ("Napoleon and the storming of the Bastille", "The French Revolution"),
    ("the Cuban missile crisis and the space race", "The Cold War"),
]
