"""Campaign files (TOML): their schema, value types and loading."""
