"""The Ozon Seller API: transport (`client`), response models (`models`), methods (`endpoints`)."""
