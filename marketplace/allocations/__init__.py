"""Allocations: an exchange attaches part of a policy's limit to one of its obligations."""
