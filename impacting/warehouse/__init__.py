"""The warehouse: table declarations, the working database and publishing."""
