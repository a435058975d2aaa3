"""Use cases shared by the JSON API and the HTML pages, so both behave the same."""
