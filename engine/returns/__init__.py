"""Government returns and extracts: quarterly progress, NIS identifiers, pseudonymised analysis data."""
