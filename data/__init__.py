"""The data contract: columns, schemas, loaders with quarantine, importers, demo universe."""
