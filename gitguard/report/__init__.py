"""Reports: the id/en text table, Markdown builders, HTML rendering and delivery."""

KINDS = ("state", "repair", "activity")
FORMATS = ("md", "html")
