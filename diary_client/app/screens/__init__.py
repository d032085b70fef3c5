"""The app's screens, one module each; heavy ones (progress) are imported only when opened."""
