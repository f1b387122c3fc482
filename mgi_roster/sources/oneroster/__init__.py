"""OneRoster (1.1 and 1.2) as a source: CSV packages and the REST API.

`files.py` declares the package's files and their exact headers per version, once. Both readers
land a package's records in the same raw tables (`or_<file>`, every column VARCHAR, named by the
CSV headers; see `files.raw_columns`), and one mapping turns those into the staging tables the
rest of the product reads, so nothing after staging knows which provider ran.
"""
