"""The Streamlit app: reads the store, draws, offers downloads. Never fits, never schedules."""
