"""An honest app whose extracted package a hostile run tries to change."""
