"""The edges: Flask apps that translate HTTP into core calls and core errors into wire errors."""
