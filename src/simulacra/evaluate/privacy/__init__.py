"""Privacy metrics: does the synthetic table leak the rows it was made from?"""
