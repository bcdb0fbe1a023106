"""Running the pipeline: what a run left out (`rejects`) and runs that failed (`run_failures`)."""
