"""The app platform: app packages (manifest), and — to come — the SDK, runtime and provenance."""
