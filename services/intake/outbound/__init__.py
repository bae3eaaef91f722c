"""Messages back to the complainant, on the channel they used, after the commit."""
