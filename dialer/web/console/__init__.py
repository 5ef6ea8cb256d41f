"""The browser console: server-rendered pages (Jinja2, autoescaped), one stylesheet and one
small script, all served by the product itself (no CDN: it works with no internet)."""
