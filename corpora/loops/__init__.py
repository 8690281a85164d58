"""Cases with loops: TensorList (fails) and static while loops (converts)."""
