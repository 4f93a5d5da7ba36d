"""Operations as journaled step machines: drain, restore, reboot (one blade or all)."""
