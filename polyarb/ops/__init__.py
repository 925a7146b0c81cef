"""Operations: the go/no-go checklist, backup and restore, and `.env` secrets loading."""
