"""The versioned roster the MGI holds: its SQL vocabulary, merge and undo, history, exports."""
