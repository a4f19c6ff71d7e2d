"""The web console: server-rendered pages over the API's services (docs/console.md)."""
