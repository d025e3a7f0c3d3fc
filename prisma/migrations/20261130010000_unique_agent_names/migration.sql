-- Older dashboards could register two agents under one name (npm start with another
-- agent address added a second "local"): all but the first of a name get their id added.
UPDATE "Agent" SET "name" = "name" || '-' || "id"
WHERE "id" NOT IN (SELECT min("id") FROM "Agent" GROUP BY "name");

-- CreateIndex
CREATE UNIQUE INDEX "Agent_name_key" ON "Agent"("name");
