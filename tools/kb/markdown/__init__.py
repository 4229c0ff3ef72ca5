"""Python-Markdown extensions of the knowledge base."""
