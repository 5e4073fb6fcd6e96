"""Programme reports: data model, inline SVG charts, self-contained HTML."""
