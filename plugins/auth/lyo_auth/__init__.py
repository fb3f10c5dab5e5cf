"""lyo-auth: the Lyo plugin for accounts, sessions, roles and profiles.

Other plugins need nothing from here to use it (``kernel.current_identity()`` and
``kernel.require`` work off the identity this plugin builds); what they may call is
:mod:`lyo_auth.api`, and the event classes they may validate payloads with are in
:mod:`lyo_auth.events`.
"""
