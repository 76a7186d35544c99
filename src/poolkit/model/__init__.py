"""The domain values: reps, pools, customers and their history. Imports no store."""
