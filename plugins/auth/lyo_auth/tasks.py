"""The plugin's tasks: none yet (password-reset mail is a mail plugin's, through the
``auth.password_reset_requested.v1`` event)."""
