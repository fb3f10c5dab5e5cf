"""The web side: the app factory, middleware, CORS, problems, the kernel's routes and /ws."""
