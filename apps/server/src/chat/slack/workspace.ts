// Which Slack workspaces the app serves: the one its token is installed in (auth.test, asked once)
// plus SLACK_ALLOWED_TEAMS. A click from anyone else never counts, even if their email matches.
import type { WebClient } from '@slack/web-api';
import type { CountChatCall } from '../count-chat-call.ts';

export interface SlackWorkspaces {
  /** Whether a clicker from `teamId` (and `enterpriseId`, on Enterprise Grid) is one of ours. */
  isOwn(teamId: string | undefined, enterpriseId: string | undefined): Promise<boolean>;
  /** Whether `teamId` (or `enterpriseId`) is the workspace the bot token is installed in. */
  isInstallation(teamId: string | undefined, enterpriseId: string | undefined): Promise<boolean>;
}

export function createSlackWorkspaces(
  client: WebClient,
  countCall: CountChatCall,
  allowedTeams: readonly string[],
): SlackWorkspaces {
  let installation: Promise<{ teamId: string | undefined; enterpriseId: string | undefined }> | undefined;
  const own = () =>
    (installation ??= countCall('auth.test', () => client.auth.test()).then(
      (answer) => ({ teamId: answer.team_id, enterpriseId: answer.enterprise_id }),
      (error: unknown) => {
        installation = undefined; // ask again on the next click
        throw error;
      },
    ));
  const isInstallation = async (teamId: string | undefined, enterpriseId: string | undefined) => {
    const ours = await own();
    if (teamId !== undefined && teamId === ours.teamId) return true;
    return enterpriseId !== undefined && enterpriseId === ours.enterpriseId;
  };
  return {
    async isOwn(teamId, enterpriseId) {
      if (teamId !== undefined && allowedTeams.includes(teamId)) return true;
      return isInstallation(teamId, enterpriseId);
    },
    isInstallation,
  };
}
