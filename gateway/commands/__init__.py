"""The `smartbcc` commands, one module per noun; gateway.cli assembles them into the group."""
