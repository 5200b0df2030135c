INSERT INTO notes (id, title, body, created_at) VALUES
  (1, 'Grocery list', 'Buy lemons, basil and sourdough for the weekend.', 1730000000),
  (2, 'Deploy checklist', 'Run the migrations first, then deploy the worker; check the logs.', 1730000100),
  (3, 'Reading', 'Finish the chapter on lighthouses and tides.', 1730000200),
  (4, 'Garden', 'Basil seedlings need more sun; move them near the window.', 1730000300),
  (5, 'Trip', 'Lighthouse tour at nine, ferry back at four.', 1730000400);

-- Fix a typo after the fact so the update trigger runs too.
UPDATE notes SET body = 'Buy lemons, basil and rye bread for the weekend.' WHERE id = 1;
