"""Classroom policy: who is acting (`people`), what they may do (`permissions`), the teacher's assignment links and
the class board. The run store knows nothing of it; these modules wrap the store."""
