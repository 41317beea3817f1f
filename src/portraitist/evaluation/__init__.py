"""Set-level metrics and reports: realism, diversity, memorisation, attribute adherence, bias."""
