"""Database operations, one module per aggregate. Each public function is one transaction."""
