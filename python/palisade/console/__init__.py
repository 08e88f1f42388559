"""The console at `/console`: a web page over the admin API, signed in with a role's token."""
