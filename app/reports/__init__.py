"""Reports and exports: KPI queries, CSV / XLSX / PDF (WeasyPrint), labels."""
