"""The ``notifications`` plugin: email over SMTP (the password-reset mail among them),
an in-app inbox pushed on ``user:{id}``, devices and push through FCM, and per-category,
per-channel preferences with quiet hours."""
