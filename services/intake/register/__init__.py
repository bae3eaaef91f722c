"""Importing the office's old complaint register (buku register pengaduan): XLSX or CSV rows
become submissions with their historical dates, each row once, whatever is re-imported."""
