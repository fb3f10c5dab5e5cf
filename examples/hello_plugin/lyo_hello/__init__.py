"""lyo-hello: the smallest complete third-party Lyo plugin."""
