"""The site's bare git repository: snapshots, approved states, the journal."""
