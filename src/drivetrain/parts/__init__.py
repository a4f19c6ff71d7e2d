"""Parts demand forecasting and inventory planning."""
