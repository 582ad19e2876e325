"""`panel serve` entry for the /executor page (re-run for every browser session)."""

from dashboard.app import serve_page

serve_page("executor")
