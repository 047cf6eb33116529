"""Reading what the user gives: survey files, the study file, the codebook."""
