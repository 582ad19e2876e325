"""`panel serve` entry for the /mappings page (re-run for every browser session)."""

from dashboard.app import serve_page

serve_page("mappings")
