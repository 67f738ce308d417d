"""Face alignment (MTCNN) and WebCaricature landmark crops of identity-folder trees."""
