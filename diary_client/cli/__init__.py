"""The one `diary` command tree and its shared kit; everything may be imported from here, nothing imports it."""
