"""The CRM's own rules for admin operations: record kinds, who may receive mail, lead conversion. Pure."""
