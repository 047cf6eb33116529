"""Reports: HTML blocks, text, figures, the programme and village reports, the index page."""
