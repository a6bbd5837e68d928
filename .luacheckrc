std = "lua54"
max_line_length = 120
-- Variables starting with "_" are deliberately unused (to-be-closed guards).
ignore = {"21./_.*", "231/_.*"}
files["spec/"] = {std = "+busted"}
exclude_files = {"build/"}
