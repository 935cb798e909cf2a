"""The product import (ETL): reading files, checking rows, staging and applying them."""
