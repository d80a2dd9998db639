"""Web pages: server-rendered HTML for people browsing the APIs."""
